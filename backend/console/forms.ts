/** Forms that change something: same-origin, carrying this session's CSRF token. */
import { ConsoleError, type PageContext } from "./request.js";
import { CSRF_FIELD, sameOrigin } from "./session.js";

/** Form fields of a POST, once it is known to come from this session's own page; 403 otherwise. */
export async function checkedForm(ctx: PageContext): Promise<Record<string, string>> {
  const raw = await ctx.c.req.parseBody();
  if (!sameOrigin(ctx.c)) throw new ConsoleError(403, "This form was sent from another site; nothing was changed.");
  if (!ctx.csrfOk(raw[CSRF_FIELD])) {
    throw new ConsoleError(403, "This form is stale or did not come from a console page (its CSRF token is missing or wrong); reload the page and try again. Nothing was changed.");
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === "string") out[k] = v;
  return out;
}
