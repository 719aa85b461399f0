import { createContext, useContext, useState, type ReactNode } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, session } from "./api";
import type { Whoami } from "./types";

interface AuthState {
  me: Whoami;
  signOut: () => void;
  switchOrganization: (id: string | null) => void;
}

const AuthContext = createContext<AuthState | null>(null);

export function useAuth(): AuthState {
  const a = useContext(AuthContext);
  if (!a) throw new Error("useAuth outside <AuthGate>");
  return a;
}

/** Whether the signed-in key may write (read-only keys see no write buttons). */
export function useCanWrite(): boolean {
  return useAuth().me.can_write;
}

export function AuthGate({
  signIn,
  children,
}: {
  signIn: (failed: ApiError | null, signedIn: () => void) => ReactNode;
  children: ReactNode;
}) {
  const qc = useQueryClient();
  // Bumped on every change of credentials or organization: a new identity, new queries.
  const [version, setVersion] = useState(0);
  const renew = () => {
    qc.removeQueries();
    setVersion((v) => v + 1);
  };
  const me = useQuery<Whoami, Error>({
    queryKey: ["whoami", version],
    queryFn: () => api.get<Whoami>("/api/v1/whoami"),
    retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
    staleTime: 60_000,
  });
  if (me.isPending) return null;
  if (me.error) {
    const e = me.error instanceof ApiError ? me.error : null;
    if (e && (e.status === 401 || e.status === 403 || e.status === 404)) {
      return <>{signIn(session.credentials() ? e : null, renew)}</>;
    }
    return (
      <div role="alert" className="p-6">
        The agent did not answer: {me.error.message}
      </div>
    );
  }
  const state: AuthState = {
    me: me.data,
    signOut() {
      session.signOut();
      renew();
    },
    switchOrganization(id) {
      session.chooseOrganization(id);
      renew();
    },
  };
  return <AuthContext.Provider value={state}>{children}</AuthContext.Provider>;
}
