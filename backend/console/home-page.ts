/** `/`: the projects the token can see, each with its domains. */
import type { PageView, ProjectView } from "./client.js";
import { html, type SafeHtml } from "./html.js";
import { labelChips, page } from "./layout.js";
import { paths } from "./paths.js";
import type { PageContext } from "./request.js";

export async function homePage(ctx: PageContext): Promise<SafeHtml> {
  const [projects, domains] = await Promise.all([ctx.api.get<PageView<ProjectView>>("/projects"), ctx.api.get<{ domains: string[] }>("/domains")]);
  const rows = projects.items.map(
    (p) => html`<tr>
<th scope="row">${p.name}</th>
<td>${p.description || html`<span class="muted">—</span>`}</td>
<td>${labelChips(p.labels)}</td>
<td>${domains.domains.map((d, i) => html`${i > 0 ? " · " : ""}<a href="${paths.domain(p.name, d)}">${d}</a>`)}</td>
</tr>`,
  );
  return page(
    { title: "Projects", session: ctx.session, crumbs: [{ text: "Projects" }] },
    html`<h1>Projects</h1>
${
  rows.length === 0
    ? html`<p class="notice">Your token can see no project. Ask a project admin for a grant.</p>`
    : html`<table><caption>Projects you can see, and their domains (in promotion order: ${domains.domains.join(" → ")})</caption>
<thead><tr><th scope="col">Project</th><th scope="col">Description</th><th scope="col">Labels</th><th scope="col">Domains</th></tr></thead>
<tbody>${rows}</tbody></table>`
}`,
  );
}
