import type { Gateway, GatewayFeature } from "../context.js";
import type { Route } from "../routes.js";

export type { WebhookSpec } from "./spec.js";

/** TODO(issue 5): not built yet. */
export class WebhooksFeature implements GatewayFeature {
  readonly routes: Route[] = [];
  constructor(private readonly g: Gateway) {
    void this.g;
  }
}
