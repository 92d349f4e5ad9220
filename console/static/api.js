// The one place that talks HTTP to the console back end.
import { noteServerDate } from "./clock.js";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status; // 0 means the request never got an answer (network down)
    this.detail = detail;
  }
}

// FastAPI sends {"detail": "text"} for our own errors but a list of objects for validation
// errors (422); either way the operator should see words, not "[object Object]".
function detailText(body) {
  const detail = body?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => d?.msg ?? JSON.stringify(d)).join("; ");
  return null;
}

// body is sent as JSON, except a string with contentType given (the CSV import sends the file
// text as it is, so the server sees the rows exactly as the admin's spreadsheet wrote them).
export async function api(method, path, body, { contentType } = {}) {
  // The marker header goes on every request, not only state-changing ones: it costs nothing
  // and means a new POST can never forget it (the server refuses those without it).
  const headers = { Accept: "application/json", "X-Requested-With": "eldercare" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined && contentType) {
    headers["Content-Type"] = contentType;
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  const sent = Date.now();
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, null);
  }
  noteServerDate(res.headers.get("Date"), sent);
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch {
      data = null; // a proxy's HTML error page, say; the status still tells what happened
    }
  }
  if (!res.ok) throw new ApiError(res.status, detailText(data));
  return data;
}

// A GET whose route may not exist on an older server: null instead of an error for 404, so a
// panel can say "not available" while the rest of the page works.
export async function optional(path) {
  try {
    return await api("GET", path);
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}
