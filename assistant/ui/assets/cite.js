// A click on a citation marker selects its source: unfold it, bring it into view, outline it.
(() => {
  function select(id) {
    const target = document.getElementById(id);
    if (!target) return false;
    for (let el = target.parentElement; el; el = el.parentElement) {
      if (el.tagName === "DETAILS") el.open = true;
    }
    document.querySelectorAll(".source.selected").forEach((el) => el.classList.remove("selected"));
    target.classList.add("selected");
    target.scrollIntoView({ behavior: "smooth", block: "center" });
    return true;
  }
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const id = link.getAttribute("href").slice(1);
    const tab = [...document.querySelectorAll('button[role="tab"]')].find((b) => b.textContent.trim() === "Sources");
    if (tab && tab.getAttribute("aria-selected") !== "true") {
      tab.click();
      setTimeout(() => select(id), 150);
    } else {
      select(id);
    }
  }, true);
})();
