// API keys (admins): list, create (the key shown once, copyable), revoke.
import { h, act, when, copyField } from "./ui.js";

export async function render(ctx, root) {
  const rows = h("tbody", { id: "key-rows" });
  const shown = h("div", { id: "new-key" });
  const role = h("select", { id: "key-role" }, ["viewer", "operator", "admin"].map((r) => h("option", { value: r }, r)));
  const label = h("input", { id: "key-label", maxlength: "64", required: true });
  const days = h("input", { id: "key-days", type: "number", min: "1", step: "1", placeholder: "never" });
  const form = h("form", { class: "card row", id: "key-form" },
    h("label", { for: "key-role" }, "Role"), role, h("label", { for: "key-label" }, "Label"), label,
    h("label", { for: "key-days" }, "Expires in (days)"), days, h("button", { type: "submit" }, "Create key"));
  root.append(h("h1", {}, "API keys"), form, shown,
    h("table", {}, h("thead", {}, h("tr", {}, ["Id", "Role", "Label", "Created", "Expires", "Last used", ""].map((t) => h("th", {}, t)))), rows));

  async function load() {
    const r = await ctx.rpc.call("list_api_keys");
    rows.replaceChildren(...r.keys.map((k) => {
      const revoke = k.revoked ? "revoked" : h("button", { type: "button", class: "danger", "data-id": k.id, onclick: () => act(revoke, async () => {
        await ctx.rpc.call("revoke_api_key", { id: k.id });
        await load();
      }) }, "Revoke");
      return h("tr", { "data-id": k.id }, h("td", {}, k.id), h("td", {}, k.role), h("td", {}, k.label),
        h("td", {}, when(k.created_at)), h("td", {}, k.expires_at ? when(k.expires_at) : "never"),
        h("td", {}, when(k.last_used_at)), h("td", {}, revoke));
    }));
  }
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(form.querySelector("button"), async () => {
      const params = { role: role.value, label: label.value };
      if (days.value) params.expires_in_secs = Number(days.value) * 86400;
      const r = await ctx.rpc.call("create_api_key", params);
      shown.replaceChildren(h("div", { class: "card" },
        h("p", {}, "The new key is shown only now: copy it."), copyField(`Key ${r.id}`, r.key, "new-key-value")));
      label.value = "";
      await load();
    });
  });
  await load();
}
