import { lazy, Suspense, useState } from "react";
import { NavLink, Route, Routes } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { AuthGate, useAuth } from "./lib/auth";
import { api } from "./lib/api";
import { applyTheme, storedTheme, type Theme } from "./lib/theme";
import type { Organization } from "./lib/types";
import { Button, cx, inputClass, Loading } from "./components/ui";
import { SignIn } from "./pages/SignIn";
import { Dashboard } from "./pages/Dashboard";
import { Topics } from "./pages/Topics";
import { NotFound } from "./pages/NotFound";

// The first load carries the shell, the dashboard and the topic list; the rest comes on use.
const TopicDetail = lazy(() => import("./pages/TopicDetail"));
const Produce = lazy(() => import("./pages/Produce"));
const Groups = lazy(() => import("./pages/Groups"));
const GroupDetail = lazy(() => import("./pages/GroupDetail"));
const Agents = lazy(() => import("./pages/Agents"));
const Schemas = lazy(() => import("./pages/Schemas"));
const Organizations = lazy(() => import("./pages/Organizations"));
const Sql = lazy(() => import("./pages/Sql"));

const NAV: [string, string][] = [
  ["/", "Dashboard"],
  ["/topics", "Topics"],
  ["/produce", "Producer"],
  ["/groups", "Consumer groups"],
  ["/schemas", "Schema registry"],
  ["/agents", "Agents"],
  ["/organization", "Organization"],
  ["/sql", "SQL"],
];

export function App() {
  return (
    <AuthGate signIn={(failed, signedIn) => <SignIn failed={failed} signedIn={signedIn} />}>
      <Shell />
    </AuthGate>
  );
}

function OrgSwitcher() {
  const { me, switchOrganization } = useAuth();
  const orgs = useQuery({
    queryKey: ["organizations"],
    queryFn: () => api.get<Organization[]>("/api/v1/organizations"),
    enabled: me.platform_admin,
  });
  if (!me.platform_admin) {
    return (
      <div className="truncate text-sm" title={me.org_id}>
        <span className="text-muted">Organization</span>
        <div className="font-medium" data-testid="org-name">
          {me.org_name || me.org_slug}
        </div>
      </div>
    );
  }
  return (
    <label className="block text-sm">
      <span className="text-muted">Organization</span>
      <select
        className={cx(inputClass, "mt-1")}
        value={me.org_id}
        onChange={(e) => switchOrganization(e.target.value)}
        aria-label="Organization"
      >
        {(orgs.data ?? [{ id: me.org_id, slug: me.org_slug, name: me.org_name } as Organization]).map((o) => (
          <option key={o.id} value={o.id}>
            {o.name || o.slug}
          </option>
        ))}
      </select>
    </label>
  );
}

function Shell() {
  const { me, signOut } = useAuth();
  const [theme, setTheme] = useState<Theme>(storedTheme());
  const toggle = () => {
    const t = theme === "dark" ? "light" : "dark";
    applyTheme(t);
    setTheme(t);
  };
  return (
    <div className="flex min-h-full">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:p-2">
        Skip to content
      </a>
      <aside className="flex w-56 shrink-0 flex-col gap-4 border-r border-line bg-panel p-4">
        <div className="flex items-center gap-2 text-lg font-semibold">
          <span aria-hidden className="inline-block h-5 w-5 rounded bg-accent" />
          StreamHouse
        </div>
        <nav aria-label="Main" className="flex flex-col gap-0.5">
          {NAV.map(([to, label]) => (
            <NavLink
              key={to}
              to={to}
              end={to === "/"}
              className={({ isActive }) =>
                cx(
                  "rounded-md px-2.5 py-1.5 text-sm",
                  isActive ? "bg-accent text-white" : "hover:bg-subtle",
                )
              }
            >
              {label}
            </NavLink>
          ))}
        </nav>
        <div className="mt-auto space-y-3 border-t border-line pt-3">
          <OrgSwitcher />
          <div className="text-xs text-muted" data-testid="principal">
            {me.auth ? `${me.principal} · ${me.scope ?? "all"}` : "open mode (no logins)"}
          </div>
          <div className="flex gap-2">
            <Button variant="ghost" onClick={toggle} aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`}>
              {theme === "dark" ? "Light" : "Dark"}
            </Button>
            {me.auth && (
              <Button variant="ghost" onClick={signOut}>
                Sign out
              </Button>
            )}
          </div>
        </div>
      </aside>
      <main id="main" className="min-w-0 flex-1">
        <Suspense fallback={<Loading />}>
          <Routes>
            <Route path="/" element={<Dashboard />} />
            <Route path="/topics" element={<Topics />} />
            <Route path="/topics/:name" element={<TopicDetail />} />
            <Route path="/produce" element={<Produce />} />
            <Route path="/groups" element={<Groups />} />
            <Route path="/groups/:id" element={<GroupDetail />} />
            <Route path="/schemas/*" element={<Schemas />} />
            <Route path="/agents" element={<Agents />} />
            <Route path="/organization" element={<Organizations />} />
            <Route path="/sql" element={<Sql />} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}
