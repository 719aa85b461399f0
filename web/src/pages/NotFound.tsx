import { Link } from "react-router-dom";
import { Page } from "../components/ui";

export function NotFound() {
  return (
    <Page title="Page not found">
      <p className="text-sm">
        Nothing lives at <code>{window.location.pathname}</code>.{" "}
        <Link className="text-link underline" to="/">
          Back to the dashboard
        </Link>
      </p>
    </Page>
  );
}
