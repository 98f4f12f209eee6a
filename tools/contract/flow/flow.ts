// A front end's whole session, written against the types openapi-typescript
// generates from openapi.yaml and sent with openapi-fetch, as a browser would
// (cookies kept by a jar that follows the browser's rules). scripts/contract.sh
// builds it with strict tsc and runs it against the real server:
//
//   API_BASE_URL=http://127.0.0.1:8080 node build/flow/flow.js
//
// BINARY_BASE_URL (default API_BASE_URL) is where file bytes go: the upload is
// sent there, and downloads are compared with the upload from there too. With
// a validating proxy at API_BASE_URL, set it to the server itself: the proxy
// re-encodes binary bodies, so only its verdict on status and headers counts.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./api.js";

type User = components["schemas"]["User"];
type FileMetadata = components["schemas"]["FileMetadata"];
type Problem = components["schemas"]["Problem"];

const apiBase = process.env.API_BASE_URL ?? "http://127.0.0.1:8080";
const binaryBase = process.env.BINARY_BASE_URL ?? apiBase;

/** A cookie as a browser keeps it. */
interface StoredCookie {
  name: string;
  value: string;
  host: string;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  sameSite: string;
  expires: number; // ms since epoch; Infinity for a session cookie
}

/**
 * CookieJar follows the parts of RFC 6265 a browser applies here: a cookie
 * belongs to the host (not the port), is sent on paths under its Path,
 * never over plain HTTP when Secure, and Max-Age=0 deletes it.
 */
class CookieJar {
  private cookies = new Map<string, StoredCookie>();

  store(url: URL, setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = "", ...attrs] = line.split(";").map((s) => s.trim());
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const c: StoredCookie = {
        name: pair.slice(0, eq),
        value: pair.slice(eq + 1),
        host: url.hostname,
        path: "/",
        secure: false,
        httpOnly: false,
        sameSite: "Lax",
        expires: Infinity,
      };
      for (const a of attrs) {
        const [k = "", v = ""] = a.split("=", 2);
        switch (k.toLowerCase()) {
          case "path": c.path = v || "/"; break;
          case "secure": c.secure = true; break;
          case "httponly": c.httpOnly = true; break;
          case "samesite": c.sameSite = v; break;
          case "max-age": c.expires = Date.now() + Number(v) * 1000; break;
          case "expires": if (c.expires === Infinity) c.expires = Date.parse(v); break;
        }
      }
      // A browser ignores a Secure cookie set over plain HTTP.
      if (c.secure && url.protocol !== "https:") {
        throw new Error(`server set Secure cookie ${c.name} over plain HTTP (run it with COOKIE_SECURE=false)`);
      }
      const key = `${c.host};${c.path};${c.name}`;
      if (c.expires <= Date.now()) this.cookies.delete(key);
      else this.cookies.set(key, c);
    }
  }

  header(url: URL): string {
    const now = Date.now();
    return [...this.cookies.values()]
      .filter((c) => c.host === url.hostname && c.expires > now && pathMatches(url.pathname, c.path))
      .filter((c) => !c.secure || url.protocol === "https:")
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
  }

  get(name: string): StoredCookie | undefined {
    return [...this.cookies.values()].find((c) => c.name === name && c.expires > Date.now());
  }
}

function pathMatches(reqPath: string, cookiePath: string): boolean {
  return reqPath === cookiePath || reqPath.startsWith(cookiePath.endsWith("/") ? cookiePath : cookiePath + "/");
}

const jar = new CookieJar();

/** Sends the jar's cookies and keeps what the server sets; adds the page's Origin to writes. */
const browser: Middleware = {
  onRequest({ request }) {
    const url = new URL(request.url);
    const cookie = jar.header(url);
    if (cookie) request.headers.set("Cookie", cookie);
    if (request.method !== "GET" && request.method !== "HEAD") {
      // A same-origin page: the browser sends the origin it is served from.
      request.headers.set("Origin", url.origin);
    }
    return request;
  },
  onResponse({ request, response }) {
    jar.store(new URL(request.url), response.headers.getSetCookie());
    return response;
  },
};

const api = createClient<paths>({ baseUrl: apiBase });
api.use(browser);
const binary = createClient<paths>({ baseUrl: binaryBase });
binary.use(browser);

/** The file's bytes from BINARY_BASE_URL (the same request again when that is not API_BASE_URL). */
async function bytesOf(id: string, range: string | undefined, body: ArrayBuffer): Promise<Buffer> {
  if (binaryBase === apiBase) return Buffer.from(body);
  const { data, response } = await binary.GET("/api/v1/files/{id}/content", {
    headers: range ? { ...bearer(), Range: range } : bearer(),
    params: { path: { id } },
    parseAs: "arrayBuffer",
  });
  check(data && response.ok, `direct download: ${response.status}`);
  return Buffer.from(data);
}

let step = 0;
function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`step ${step}: ${what}`);
}
async function run(name: string, fn: () => Promise<void>): Promise<void> {
  step++;
  const t = Date.now();
  await fn();
  console.log(`ok ${step} ${name} (${Date.now() - t} ms)`);
}
function problem(error: unknown): string {
  const p = error as Problem | undefined;
  return p ? `${p.status} ${p.type}: ${p.detail ?? ""}` : "no problem document";
}

// The smallest valid PNG (1x1, RGBA): sniffed as image/png by the server.
const png = Uint8Array.from(
  Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    "base64",
  ),
);

const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const email = `flow-${suffix}@example.com`;
const username = `flow_${suffix}`;
let password = "Correct-Horse-9";
let token = "";
let me: User | undefined;
let uploaded: FileMetadata | undefined;
const bearer = (): { Authorization: string } => ({ Authorization: `Bearer ${token}` });

await run("register", async () => {
  const { data, error, response } = await api.POST("/api/v1/auth/register", {
    body: { email, username, password, display_name: "Flow Test" },
  });
  // 201 with the account, or 202 when the server requires verified email
  // (REQUIRE_VERIFIED_EMAIL, off in development): this flow needs the 201.
  check(response.status === 201 && data && "email" in data, `register: ${response.status} ${problem(error)}`);
  check(data.email === email && data.username === username, "register returns the account");
});

await run("login", async () => {
  const { data, error, response } = await api.POST("/api/v1/auth/login", { body: { email, password } });
  check(response.status === 200 && data, `login: ${response.status} ${problem(error)}`);
  check(data.token_type === "Bearer" && data.expires_in > 0, "login returns a bearer token");
  token = data.access_token;
  const c = jar.get("refresh_token");
  check(c && c.httpOnly && c.path === "/api/v1/auth" && c.sameSite.toLowerCase() === "strict", "refresh cookie is HttpOnly, SameSite=Strict, on /api/v1/auth");
  check(jar.header(new URL("/api/v1/users/me", apiBase)) === "", "the refresh cookie is not sent outside /api/v1/auth");
});

await run("me", async () => {
  const { data, error, response } = await api.GET("/api/v1/users/me", { headers: bearer() });
  check(response.status === 200 && data, `me: ${response.status} ${problem(error)}`);
  check(data.email === email && data.role === "user" && data.is_active, "me is the new account");
  check(response.headers.get("Cache-Control") === "no-store", "account data is not cacheable");
  me = data;
});

await run("patch", async () => {
  const { data, error, response } = await api.PATCH("/api/v1/users/me", {
    headers: bearer(),
    body: { display_name: "Flow Test, renamed" },
  });
  check(response.status === 200 && data, `patch: ${response.status} ${problem(error)}`);
  check(data.display_name === "Flow Test, renamed" && data.id === me?.id, "patch changes the display name");
});

await run("upload a Blob", async () => {
  const blob: Blob = new Blob([png], { type: "image/png" });
  const { data, error, response } = await binary.POST("/api/v1/files", {
    headers: bearer(),
    body: { file: blob },
    bodySerializer(body) {
      const form = new FormData();
      form.append("file", body.file); // no file name: the browser sends "blob"
      return form;
    },
  });
  check(response.status === 201 && data, `upload: ${response.status} ${problem(error)}`);
  check(data.filename === "blob.png" && data.content_type === "image/png" && data.size === png.length, `upload stored ${JSON.stringify(data)}`);
  uploaded = data;
});

await run("list", async () => {
  const { data, error, response } = await api.GET("/api/v1/files", { headers: bearer(), params: { query: { limit: 10 } } });
  check(response.status === 200 && data, `list: ${response.status} ${problem(error)}`);
  check(data.items.length === 1 && data.items[0]?.id === uploaded?.id && data.next_cursor === null, "list shows the upload");
});

await run("download", async () => {
  const id = uploaded?.id ?? "";
  const { data, error, response } = await api.GET("/api/v1/files/{id}/content", {
    headers: bearer(),
    params: { path: { id } },
    parseAs: "arrayBuffer",
  });
  check(response.status === 200 && data, `download: ${response.status} ${problem(error)}`);
  check((await bytesOf(id, undefined, data)).equals(Buffer.from(png)), "downloaded bytes equal the upload");
  check(response.headers.get("Content-Type") === "image/png", "download has the sniffed type");
  check(response.headers.get("Content-Disposition")?.startsWith("attachment;"), "download is an attachment");
  check(response.headers.get("ETag") === `"${uploaded?.sha256}"`, "ETag is the SHA-256");
});

await run("download a range", async () => {
  const { data, error, response } = await api.GET("/api/v1/files/{id}/content", {
    headers: { ...bearer(), Range: "bytes=0-7" },
    params: { path: { id: uploaded?.id ?? "" } },
    parseAs: "arrayBuffer",
  });
  check(response.status === 206 && data, `range: ${response.status} ${problem(error)}`);
  check((await bytesOf(uploaded?.id ?? "", "bytes=0-7", data)).equals(Buffer.from(png.subarray(0, 8))), "range bytes are the first 8");
  check(response.headers.get("Content-Range") === `bytes 0-7/${png.length}`, "Content-Range names the range");
});

await run("refresh", async () => {
  const before = jar.get("refresh_token")?.value;
  const { data, error, response } = await api.POST("/api/v1/auth/refresh");
  check(response.status === 200 && data, `refresh: ${response.status} ${problem(error)}`);
  check(jar.get("refresh_token")?.value !== before, "refresh rotates the cookie");
  token = data.access_token;
});

await run("sessions", async () => {
  const { data, error, response } = await api.GET("/api/v1/auth/sessions", { headers: bearer() });
  check(response.status === 200 && data, `sessions: ${response.status} ${problem(error)}`);
  check(data.items.length === 1 && data.items[0]?.current === true, "one session, the current one");
});

await run("password change", async () => {
  const next = "Battery-Staple-7";
  const { error, response } = await api.POST("/api/v1/users/me/password", {
    headers: bearer(),
    body: { current_password: password, new_password: next },
  });
  check(response.status === 204, `password: ${response.status} ${problem(error)}`);
  password = next;
});

await run("logout", async () => {
  const { error, response } = await api.POST("/api/v1/auth/logout");
  check(response.status === 204, `logout: ${response.status} ${problem(error)}`);
  check(jar.get("refresh_token") === undefined, "logout clears the refresh cookie");
});

await run("the logged-out session gets 401", async () => {
  const me401 = await api.GET("/api/v1/users/me", { headers: bearer() });
  check(me401.response.status === 401 && me401.error?.type === "/problems/unauthorized", `me after logout: ${me401.response.status}`);
  check(me401.response.headers.get("WWW-Authenticate")?.startsWith("Bearer"), "401 names the Bearer scheme");
  const refresh401 = await api.POST("/api/v1/auth/refresh");
  check(refresh401.response.status === 401, `refresh after logout: ${refresh401.response.status}`);
});

await run("login with the new password", async () => {
  const { response } = await api.POST("/api/v1/auth/login", { body: { email, password } });
  check(response.status === 200, `login with the new password: ${response.status}`);
});

console.log(`${step} passed, 0 failed`);
