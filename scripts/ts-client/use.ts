// Compiled against the types openapi-typescript generates from openapi.yaml:
// a front end's everyday uses must type-check (scripts/check-ts-client.sh).
import type { paths, components } from "./api";

type User = components["schemas"]["User"];
type Problem = components["schemas"]["Problem"];
type LoginBody = paths["/api/v1/auth/login"]["post"]["requestBody"]["content"]["application/json"];
type LoginOK = paths["/api/v1/auth/login"]["post"]["responses"]["200"]["content"]["application/json"];
type VerifyBody = paths["/api/v1/auth/mfa/verify"]["post"]["requestBody"]["content"]["application/json"];
type UserPage = paths["/api/v1/users"]["get"]["responses"]["200"]["content"]["application/json"];
type NewToken = paths["/api/v1/users/me/tokens"]["post"]["requestBody"]["content"]["application/json"];
type CreatedToken = paths["/api/v1/users/me/tokens"]["post"]["responses"]["201"]["content"]["application/json"];

export const body: LoginBody = { email: "alice@example.com", password: "Correct-Horse-9" };
// A login answers tokens, or an MFA challenge to finish with a code.
export const bearer = (r: LoginOK): string | null => ("access_token" in r ? `${r.token_type} ${r.access_token}` : null);
export const secondStep = (r: LoginOK, code: string): VerifyBody | null =>
  "mfa_token" in r ? { mfa_token: r.mfa_token, code } : null;
export const names = (p: UserPage): string[] => p.items.map((u: User) => `${u.username}${u.mfa_enabled ? " (2FA)" : ""}`);
export const fieldMessages = (p: Problem): string[] => (p.errors ?? []).map((e) => `${e.field}: ${e.message}`);
export const backupToken: NewToken = { name: "backup script", scopes: ["files:read"], expires_in: 3600 };
export const tokenHeader = (t: CreatedToken): string => `Bearer ${t.token}`;
