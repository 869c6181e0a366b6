// JSDoc types of the stream protocol v1 (docs/protocol.md, docs/networks.md), for tsc --checkJs.
// Type declarations only: nothing here runs.

export interface Limits {
  max_steps: number;
  max_runs: number;
  max_message_bytes: number;
  max_commands_per_second: number;
  max_speed: number;
  idle_timeout_s: number;
  /** Activation names a network config may use. */
  activations: string[];
  /** Hidden layers of a network config. */
  max_layers: number;
  /** Units of one hidden layer. */
  max_units: number;
  /** Bytes of an uploaded CSV. */
  max_upload_bytes: number;
}

export interface Hello {
  type: "hello";
  version: number;
  limits: Limits;
  commands: string[];
}

export interface StartedRun {
  id: string;
  optimizer: string;
  hyperparameters: Record<string, unknown>;
  schedule?: unknown;
  clip_norm?: number | null;
  clip_value?: number | null;
  start?: [number, number];
  /** The run's optimizer's aux columns (e.g. eval_x, eval_y; d): its frames carry them, null = undefined. */
  aux_columns?: string[];
}

export interface Started {
  type: "started";
  seq: number;
  kind?: "surface" | "network" | "map";
  runs: StartedRun[];
  /** The names of the columns of this descent's `steps` frames: the base ones every run has, then every
   * run's aux columns (a run's frames carry the base columns and its own `aux_columns`). */
  columns: string[];
  steps: number;
  speed: number | "max";
  paused: boolean;
  surface?: Record<string, unknown>;
}

export interface StepsFrame {
  type?: "steps";
  seq?: number;
  /** run id -> column name -> values of the steps that arrived. */
  runs: Record<string, Record<string, any[]>>;
}

export interface RunEvent {
  type?: "event";
  seq?: number;
  run: string;
  reason: "converged" | "diverged" | "left_view" | "max_steps" | "max_evaluations" | "stopped" | "early_stop" | "done" | string;
  step?: number;
  detail?: string;
  summary?: Record<string, any>;
}

export interface StateMessage {
  type: "state";
  seq: number;
  paused: boolean;
  speed: number | "max";
}

export interface ErrorMessage {
  type: "error";
  code: string;
  message: string;
  field: string | null;
  ref: number | null;
}

export interface Done {
  type: "done";
  seq: number;
  summary?: Record<string, any>;
}

/** The cells of one map panel in a band of rows (kind "map"): row i of the band is row start + i. */
export interface MapCells {
  basin: number[][];
  reason: number[][];
  steps_taken: number[][];
  final_loss: (number | null)[][];
}

/** A convergence map's band of rows start … stop - 1, for every panel (kind "map"). */
export interface MapRows {
  type: "map_rows";
  seq: number;
  start: number;
  stop: number;
  maps: Record<string, MapCells>;
}

export type ServerMessage = Hello | Started | StepsFrame | RunEvent | StateMessage | ErrorMessage | Done | MapRows;
