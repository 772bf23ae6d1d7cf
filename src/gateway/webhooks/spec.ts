/** A webhook registration (TODO(issue 5): not built yet). */
export interface WebhookSpec {
  url: string;
  stream: string;
  filter_subject?: string;
}
