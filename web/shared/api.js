// The onestop HTTP API with the signed-in person's bearer token, and uploads straight to storage.

import { currentToken, signOut } from "./auth.js";
import { ApiError } from "./errors.js";

function base() {
  return (window.ONESTOP_CONFIG?.apiBase || "").replace(/\/+$/, "");
}

/** Call the API; resolves to the JSON body, rejects with ApiError (status 0 when unreachable). */
export async function api(path, { method = "GET", body, query } = {}) {
  const url = new URL(base() + path, window.location.href);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { Accept: "application/json" };
  const token = currentToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, null);
  }
  const payload = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, payload);
    if (response.status === 401 && token) {
      // The token is no longer accepted: the page asks the person to sign in again (and says why).
      signOut();
      error.handled = true;
      document.dispatchEvent(new CustomEvent("onestop:signed-out"));
    }
    throw error;
  }
  return payload;
}

/**
 * Send `file` with the presigned POST `ticket` ({url, fields}) as multipart/form-data.
 * XMLHttpRequest rather than fetch: it reports upload progress (onProgress(fraction)).
 */
export function uploadToStorage(ticket, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [key, value] of Object.entries(ticket.fields)) form.append(key, value);
    form.append("file", file); // last: storage ignores fields after the file
    const xhr = new XMLHttpRequest();
    xhr.open("POST", ticket.url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(storageError(xhr));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, null)));
    xhr.send(form);
  });
}

function storageError(xhr) {
  // S3 answers in XML: <Error><Code>EntityTooLarge</Code><Message>…</Message></Error>
  const doc = xhr.responseXML || new DOMParser().parseFromString(xhr.responseText || "<x/>", "application/xml");
  const code = doc.querySelector("Code")?.textContent || "";
  const message = doc.querySelector("Message")?.textContent || "";
  const details = code ? [{ code, zh: `${code}: ${message}`, en: `${code}: ${message}` }] : [];
  return new ApiError(xhr.status, {
    code: "upload_failed",
    message: { key: "error.upload", vars: { status: xhr.status } },
    details,
  });
}
