/** The events the ticketing services exchange: one subject each, the data as JSON. */
export const Subjects = {
  TicketCreated: "ticket:created",
  TicketUpdated: "ticket:updated",
} as const;

export interface TicketCreatedEvent {
  subject: typeof Subjects.TicketCreated;
  data: { id: string; title: string; price: number; userId: string };
}

export interface TicketUpdatedEvent {
  subject: typeof Subjects.TicketUpdated;
  data: { id: string; title: string; price: number; userId: string; version: number };
}
