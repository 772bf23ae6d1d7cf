import type { Gateway } from "./context.js";
import type { Route } from "./routes.js";

/** TODO(issue 5): not built yet. */
export function eventsCompatRoutes(g: Gateway): Route[] {
  void g;
  return [];
}
