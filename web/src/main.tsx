import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { App } from "./App";
import { ApiError } from "./lib/api";
import { applyTheme, storedTheme } from "./lib/theme";
import "./index.css";

applyTheme(storedTheme());

const client = new QueryClient({
  defaultOptions: {
    // A refusal (4xx) is the answer: shown at once, not retried.
    queries: {
      refetchOnWindowFocus: false,
      staleTime: 2_000,
      retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
    },
  },
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={client}>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
