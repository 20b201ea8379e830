// newswire search page: the one bit of script. Everything works without it; with it, "more"
// under a facet fetches the longer list from /api/facets and shows it in place. Text from
// the index is only ever set through textContent, never parsed as HTML.
"use strict";

function facetLink(path, option, value) {
  const url = new URL(path, window.location.origin);
  const here = new URLSearchParams(window.location.search);
  here.delete("offset");
  here.delete("more");
  here.set(option, value);
  url.search = here.toString();
  return url.pathname + url.search;
}

async function expandFacet(event) {
  const more = event.currentTarget;
  const section = more.closest("[data-facet]");
  const option = section.dataset.facet;
  event.preventDefault();
  try {
    const response = await fetch(more.dataset.api, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(String(response.status));
    const answer = await response.json();
    const list = section.querySelector("ul");
    list.replaceChildren(...(answer.facets[option] || []).map((facet) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = facetLink(more.dataset.path, option, facet.value);
      link.textContent = facet.value;
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = String(facet.count);
      item.append(link, " ", count);
      return item;
    }));
    more.remove();
  } catch (error) {
    window.location.assign(more.href); // the page without script does the same
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const more of document.querySelectorAll("a.more[data-api]")) more.addEventListener("click", expandFacet);
});
