import { Page } from "../components/ui";

export default function Sql() {
  return (
    <Page title="SQL">
      <p className="max-w-prose text-sm">
        The SQL workbench (ad-hoc queries over topics, continuous queries into topics) comes with SQL over topics. Until then, read
        records in a topic's message browser.
      </p>
    </Page>
  );
}
