// One GET of the API per page: loads when the URL changes, `reload()` after an action.
import { useEffect, useState } from 'preact/hooks';
import { getJSON } from './api.js';

/** `{ data, error, setError, reload }` for `url`: data is null until loaded and after a failed load. */
export function useApi(url) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const reload = async () => {
    try {
      setData(await getJSON(url));
      setError(null);
    } catch (err) {
      setData(null);
      setError(err);
    }
  };
  useEffect(() => {
    setData(null);
    void reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [url]);
  return { data, error, setError, reload };
}
