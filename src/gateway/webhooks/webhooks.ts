import type { Gateway, GatewayFeature } from "../gateway.js";
import type { Route } from "../routes.js";

/** A webhook registration (TODO(issue 5): not built yet). */
export interface WebhookSpec {
  url: string;
  stream: string;
  filter_subject?: string;
}

/** TODO(issue 5): not built yet. */
export class WebhooksFeature implements GatewayFeature {
  readonly routes: Route[] = [];
  constructor(private readonly g: Gateway) {
    void this.g;
  }
}
