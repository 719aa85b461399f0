import { useState } from "react";
import { ApiError, session } from "../lib/api";
import { Button, ErrorBox, Field, inputClass } from "../components/ui";

/** Sign-in with an API key (`key id:secret`, as created under Organizations) or the platform
 * admin's secret. The key stays in this tab's session storage, never in a URL. */
export function SignIn({ failed, signedIn }: { failed: ApiError | null; signedIn: () => void }) {
  const [key, setKey] = useState("");
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (!key.trim()) return;
    session.signIn(key.trim());
    session.chooseOrganization(null);
    signedIn();
  };
  return (
    <main className="flex min-h-screen items-center justify-center bg-page p-6">
      <form onSubmit={submit} className="w-full max-w-md space-y-4 rounded-lg border border-line bg-panel p-6 shadow">
        <div>
          <h1 className="text-xl font-semibold">Sign in to StreamHouse</h1>
          <p className="mt-1 text-sm text-muted">
            This agent requires credentials. Paste an API key as <code>key-id:secret</code>, or the platform
            admin's secret.
          </p>
        </div>
        {failed && <ErrorBox error={failed} title="Sign-in failed" />}
        <Field label="API key">
          {(id) => (
            <input
              id={id}
              type="password"
              autoComplete="off"
              autoFocus
              className={inputClass}
              value={key}
              onChange={(e) => setKey(e.target.value)}
              placeholder="key-id:secret"
            />
          )}
        </Field>
        <Button variant="primary" type="submit" className="w-full justify-center">
          Sign in
        </Button>
      </form>
    </main>
  );
}
