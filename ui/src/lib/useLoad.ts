import { useEffect, useState } from "preact/hooks";
import { asApiError, type ApiError } from "../api";
import { dataVersion } from "../state";

/**
 * Load data for a screen; reloads when `deps` change or the data version moves (a save here, or a change
 * another device made arriving by sync). A reload keeps the previous data on screen until the new arrives.
 */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { data: T | null; error: ApiError | null; loading: boolean } {
  const version = dataVersion.value;
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (e: unknown) => live && setState((s) => ({ data: s.data, error: asApiError(e), loading: false })),
    );
    return () => {
      live = false;
    };
  }, [...deps, version]);
  return state;
}
