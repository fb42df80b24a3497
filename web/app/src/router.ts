/**
 * Hash routing: `#/listing/3?share=2` names the listing page with a share. Hash routes let
 * every node serve the app as static files, and the node's referral redirect
 * (`/listing/<id>?share=<id>`, node/rpc/webapp.py) lands on `/#/listing/<id>?share=<id>`.
 */
import { createStore, useStore } from "./store";

export interface Route {
  /** The path's segments: `["listing", "3"]`. */
  readonly parts: readonly string[];
  readonly query: URLSearchParams;
}

function parse(hash: string): Route {
  const text = hash.replace(/^#/, "") || "/";
  const [path = "/", search = ""] = text.split("?", 2);
  const parts = path
    .split("/")
    .filter((part) => part.length > 0)
    .map(decodeURIComponent);
  return { parts, query: new URLSearchParams(search) };
}

export const route = createStore<Route>(parse(location.hash));

addEventListener("hashchange", () => {
  route.set(parse(location.hash));
  const main = document.getElementById("main");
  if (main !== null) main.focus({ preventScroll: true });
  scrollTo(0, 0);
});

/** The href of an app path: `link("listing", 3)` is `#/listing/3`. */
export function link(...parts: (string | number | bigint)[]): string {
  return "#/" + parts.map((part) => encodeURIComponent(String(part))).join("/");
}

export function navigate(href: string): void {
  location.hash = href.replace(/^#/, "");
}

export function useRoute(): Route {
  return useStore(route);
}
