// A live panel of the notifications this role may see (the shared subscription's).
import { h, when } from "./ui.js";

export async function render(ctx, root) {
  const list = h("ul", { id: "event-list", "aria-live": "polite" });
  const item = ({ method, event }) => h("li", {}, h("strong", {}, event.topic || method), " ",
    h("span", { class: "meta" }, when(event.timestamp)), " ", JSON.stringify(event));
  list.append(...ctx.log.map(item));
  root.append(h("h1", {}, "Events"), h("p", { class: "meta" }, "Newest first, as they happen."),
    h("div", { class: "card events" }, list));
  return ctx.on((method, event) => {
    list.prepend(item({ method, event }));
    while (list.children.length > 200) list.lastChild.remove();
  });
}
