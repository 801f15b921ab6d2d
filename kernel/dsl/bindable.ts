/** What may be passed to a node input: a value, a handle to one, or a list of either. */
import type { Handle } from "./handles.js";

/** A value of type A, a handle to one, or (for lists) a list of values and handles. */
export type Bindable<A> =
  | A
  | Handle<A>
  | (A extends readonly (infer E)[] ? readonly Bindable<E>[] : never);
