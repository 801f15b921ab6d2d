/**
 * Terminate, relaunch and recover: each a confirmation page (GET) whose form
 * POSTs to the same URL, which calls the API's route as the signed-in user (the
 * API checks the role) and redirects to the execution.
 */
import { isTerminalPhase } from "../../kernel/index.js";
import type { ExecutionView } from "./client.js";
import { checkedForm } from "./forms.js";
import { html, type SafeHtml } from "./html.js";
import { csrfField, page, phaseBadge } from "./layout.js";
import { paths } from "./paths.js";
import { ConsoleError, type PageContext } from "./request.js";

/** The three actions. */
export type ExecutionAction = "terminate" | "relaunch" | "recover";

const WORDS: Record<ExecutionAction, { title: string; explain: string; button: string; notice: string }> = {
  terminate: {
    title: "Terminate",
    explain: "Every running attempt is stopped and the execution ends ABORTED. The cause is recorded with your name.",
    button: "Terminate the execution",
    notice: "terminated",
  },
  relaunch: {
    title: "Relaunch",
    explain: "A new execution of the same workflow version with the same inputs. Nothing of this one is reused (except what the cache holds).",
    button: "Relaunch",
    notice: "relaunched",
  },
  recover: {
    title: "Recover",
    explain: "A new execution that reuses every node that succeeded here and hands failed nodes their last checkpoint.",
    button: "Recover",
    notice: "recovered",
  },
};

const apiPath = (p: string, d: string, e: string) => `/projects/${encodeURIComponent(p)}/domains/${encodeURIComponent(d)}/executions/${encodeURIComponent(e)}`;

/** GET .../executions/{name}/{action}: what will happen, and the form that does it. */
export function actionPage(action: ExecutionAction) {
  return async (ctx: PageContext): Promise<SafeHtml> => {
    const p = ctx.param("project");
    const d = ctx.param("domain");
    const e = ctx.param("execution");
    const x = await ctx.api.get<ExecutionView>(apiPath(p, d, e));
    const w = WORDS[action];
    const here = paths.execution(p, d, x.name);
    if (!ctx.can("editor", p, d)) throw new ConsoleError(403, `${ctx.session.principal.name} needs the editor role in ${p}/${d} to ${action} executions.`);
    const refusal =
      action === "terminate" && isTerminalPhase(x.phase as never)
        ? `The execution already finished (${x.phase}); there is nothing to terminate.`
        : action === "recover" && !["FAILED", "TIMED_OUT", "ABORTED"].includes(x.phase)
          ? `Only FAILED, TIMED_OUT or ABORTED executions can be recovered; this one is ${x.phase}.`
          : undefined;
    const fields =
      action === "terminate"
        ? html`<div class="field"><label for="cause">Cause <span class="hint">recorded with the execution</span></label><textarea id="cause" name="cause" rows="3" cols="60" required maxlength="1000">Terminated from the console by ${ctx.session.principal.name}</textarea></div>`
        : html`<div class="field"><label for="name">Name of the new execution <span class="hint">optional; generated when empty</span></label><input id="name" name="name" type="text"></div>`;
    return page(
      {
        title: `${w.title} ${x.name}`,
        session: ctx.session,
        crumbs: [{ text: "Projects", href: "/" }, { text: `${p} / ${d}`, href: paths.domain(p, d) }, { text: "Executions", href: paths.executions(p, d) }, { text: x.name, href: here }, { text: w.title }],
      },
      html`<h1>${w.title} execution ${x.name}?</h1>
<p>The execution is ${phaseBadge(x.phase)}. ${w.explain}</p>
${
  refusal
    ? html`<p class="notice bad" role="alert">${refusal}</p><p><a href="${here}">Back to the execution</a></p>`
    : html`<form method="post" action="${here}/${action}">${csrfField(ctx.session)}
${fields}
<div class="actions"><button class="${action === "terminate" ? "danger" : "primary"}" type="submit">${w.button}</button><a class="button" href="${here}">Cancel</a></div>
</form>`
}`,
    );
  };
}

/** POST .../executions/{name}/{action}: does it through the API, then shows the result. */
export function actionSubmit(action: ExecutionAction) {
  return async (ctx: PageContext): Promise<Response> => {
    const p = ctx.param("project");
    const d = ctx.param("domain");
    const e = ctx.param("execution");
    const form = await checkedForm(ctx);
    const path = `${apiPath(p, d, e)}/${action}`;
    if (action === "terminate") {
      const cause = (form.cause ?? "").trim() || `Terminated from the console by ${ctx.session.principal.name}`;
      await ctx.api.post<ExecutionView>(path, { cause });
      return ctx.c.redirect(`${paths.execution(p, d, e)}?notice=terminated`, 303);
    }
    const name = (form.name ?? "").trim();
    const created = await ctx.api.post<ExecutionView>(path, name !== "" ? { name } : {});
    return ctx.c.redirect(`${paths.execution(p, d, created.name)}?notice=${WORDS[action].notice}`, 303);
  };
}
