import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { refused } from './api';
import { App } from './App';
import './styles.css';

// One more try for a failure that may pass (the network, a 5xx); a refusal (4xx) is shown at once.
const queries = new QueryClient({ defaultOptions: { queries: { retry: (failures, error) => failures < 1 && !refused(error), refetchOnWindowFocus: false } } });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queries}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
