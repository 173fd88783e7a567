/** Any other client path. */
import { Link } from 'react-router';

import { PageHeader } from '../components/Page';
import { useTitle } from '../lib/useTitle';

export function NotFound() {
  useTitle('Not found');
  return (
    <>
      <PageHeader title="Page not found" />
      <p className="state state-empty">
        There is nothing here. Go to the <Link to="/">dashboard</Link>.
      </p>
    </>
  );
}
