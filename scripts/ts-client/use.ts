// Compiled against the types openapi-typescript generates from openapi.yaml:
// a front end's everyday uses must type-check (scripts/check-ts-client.sh).
import type { paths, components } from "./api";

type User = components["schemas"]["User"];
type Problem = components["schemas"]["Problem"];
type LoginBody = paths["/api/v1/auth/login"]["post"]["requestBody"]["content"]["application/json"];
type LoginOK = paths["/api/v1/auth/login"]["post"]["responses"]["200"]["content"]["application/json"];
type UserPage = paths["/api/v1/users"]["get"]["responses"]["200"]["content"]["application/json"];

export const body: LoginBody = { email: "alice@example.com", password: "Correct-Horse-9" };
export const bearer = (r: LoginOK): string => `${r.token_type} ${r.access_token}`;
export const names = (p: UserPage): string[] => p.items.map((u: User) => u.username);
export const fieldMessages = (p: Problem): string[] => (p.errors ?? []).map((e) => `${e.field}: ${e.message}`);
