/** Shared UI state: while an edit form is open, live refresh waits. */
export const state = { editing: false };

/** A page draws itself into `view`; `rerender` draws the current page again (after an action). */
export type Page = (
  view: HTMLElement,
  arg: string | undefined,
  rerender: () => Promise<void>,
) => Promise<void>;
