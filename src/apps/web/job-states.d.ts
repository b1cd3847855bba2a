/** Served by the API from src/core (apps/server/web-ui.ts): the page's modules cannot import the core's CommonJS. */

/** The states a job never leaves (the core's TERMINAL_STATES). */
export declare const TERMINAL_STATES: readonly string[];
