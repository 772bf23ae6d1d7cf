import type { Gateway } from "./gateway.js";
import type { Route } from "./routes.js";

/** TODO(issue 5): not built yet. */
export function streamsRoutes(g: Gateway): Route[] {
  void g;
  return [];
}
