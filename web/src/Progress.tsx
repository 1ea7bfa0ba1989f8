/** A job's progress (0..1) as a labelled progress bar, with the percentage as aria-valuenow. */
export function Progress({ label, value, text }: { label: string; value: number; text?: string }) {
  const percent = Math.round(Math.max(0, Math.min(1, value)) * 100);
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-valuetext={text ?? `${percent}%`}>
      <div className="bar" style={{ width: `${percent}%` }} />
    </div>
  );
}
