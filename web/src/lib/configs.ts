/** `key=value` lines (blank lines and `#` comments skipped) into a config map. */
export function parseConfigLines(text: string): { config: Record<string, string>; error: string | null } {
  const config: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) return { config, error: `line ${i + 1}: expected key=value, got "${line}"` };
    const key = line.slice(0, eq).trim();
    if (key in config) return { config, error: `line ${i + 1}: ${key} is set twice` };
    config[key] = line.slice(eq + 1).trim();
  }
  return { config, error: null };
}
