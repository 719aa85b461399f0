import { Area, AreaChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export interface SeriesSpec {
  key: string;
  label: string;
  color: string;
}

/** A time chart of a few series (t in ms since the epoch). */
export function TimeChart({
  data,
  series,
  format,
  height = 220,
  label,
}: {
  data: Record<string, number>[];
  series: SeriesSpec[];
  format: (v: number) => string;
  height?: number;
  label: string;
}) {
  return (
    <div role="img" aria-label={label} style={{ height }}>
      <ResponsiveContainer width="100%" height="100%">
        <AreaChart data={data} margin={{ top: 5, right: 10, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--sh-line)" />
          <XAxis
            dataKey="t"
            type="number"
            domain={["dataMin", "dataMax"]}
            tickFormatter={(t) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}
            stroke="var(--sh-muted)"
            fontSize={11}
          />
          <YAxis tickFormatter={format} stroke="var(--sh-muted)" fontSize={11} width={64} />
          <Tooltip
            labelFormatter={(t) => new Date(Number(t)).toLocaleTimeString()}
            formatter={(v) => format(Number(v))}
            contentStyle={{ background: "var(--sh-panel)", border: "1px solid var(--sh-line)" }}
          />
          <Legend />
          {series.map((s) => (
            <Area
              key={s.key}
              type="monotone"
              dataKey={s.key}
              name={s.label}
              stroke={s.color}
              fill={s.color}
              fillOpacity={0.15}
              isAnimationActive={false}
            />
          ))}
        </AreaChart>
      </ResponsiveContainer>
    </div>
  );
}
