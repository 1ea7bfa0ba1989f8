import { useEffect, useRef } from 'react';

const FIELDS = ['id', 'name', 'email', 'phone', 'company', 'source', 'first_seen', 'last_seen', 'conversation_count', 'tags', 'page_url', 'ip_country'];

/** The spec's export options; the export job itself comes with the data issue, and the dialog says so. */
export function ExportDialog({ onClose }: { onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => ref.current?.showModal(), []);
  return (
    <dialog ref={ref} aria-labelledby="export-title" onClose={onClose}>
      <h2 id="export-title">Export contacts</h2>
      <fieldset>
        <legend>Which contacts</legend>
        <label><input type="radio" name="which" defaultChecked /> All contacts</label>
        <label><input type="radio" name="which" /> The current filters</label>
        <label><input type="radio" name="which" /> Created between</label>
      </fieldset>
      <fieldset>
        <legend>Columns</legend>
        {FIELDS.map((f) => <label key={f}><input type="checkbox" defaultChecked /> {f}</label>)}
      </fieldset>
      <p role="note" className="notice">CSV export is not built yet in this version: the export job arrives with the next release. Nothing is exported from here for now.</p>
      <button type="button" onClick={() => ref.current?.close()}>Close</button>
    </dialog>
  );
}
