export type Theme = "light" | "dark";

export function storedTheme(): Theme {
  const t = localStorage.getItem("streamhouse.theme");
  if (t === "light" || t === "dark") return t;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function applyTheme(t: Theme): void {
  document.documentElement.classList.toggle("dark", t === "dark");
  localStorage.setItem("streamhouse.theme", t);
}
