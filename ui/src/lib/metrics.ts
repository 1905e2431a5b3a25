/**
 * The statistics' definitions shown on hover, in the words of docs/metrics.md (the exact definitions the
 * core computes; `test/metrics.test.ts` checks each key is a statistic the core returns and that the
 * document still defines it).
 */
export const METRICS: Record<string, { label: string; definition: string }> = {
  net_pnl: {
    label: "Net P&L",
    definition: "Σ net P&L of the closed trades in the range (breakevens included), net of every fee.",
  },
  trades: {
    label: "Closed trades",
    definition: "Number of closed trades whose close time falls in the range (account time zone).",
  },
  win_rate: {
    label: "Win rate",
    definition:
      "wins / (wins + losses) × 100, 2 places; breakevens excluded; none when there are no wins or losses.",
  },
  profit_factor: {
    label: "Profit factor",
    definition:
      'gross_profit / |gross_loss|, 2 places. Wins and no losses: "no losses" (never 0 or infinity); no trades: "no trades"; losses only: 0.',
  },
  expectancy: {
    label: "Expectancy",
    definition: "net_pnl / trades: the mean net P&L per closed trade, breakevens included, 8 places.",
  },
  expectancy_r: {
    label: "Expectancy (R)",
    definition: "Mean R over the trades that have an R (an initial stop), 4 places.",
  },
  avg_win: { label: "Average win", definition: "gross_profit / wins, 8 places; none without wins." },
  avg_loss: { label: "Average loss", definition: "gross_loss / losses, 8 places; none without losses." },
  max_drawdown: {
    label: "Max drawdown",
    definition:
      "The largest peak-to-trough fall of the equity curve in money (a peak is the running maximum, the starting equity included); of equal falls, the earliest.",
  },
  max_drawdown_pct: {
    label: "Max drawdown %",
    definition: "That same fall / the peak it fell from × 100, 2 places; n/a when the peak is 0 or below.",
  },
  total_fees: { label: "Fees", definition: "Σ fees of the closed trades in the range." },
  gross_profit: { label: "Gross profit", definition: "Σ net P&L of the wins." },
  gross_loss: { label: "Gross loss", definition: "Σ net P&L of the losses (0 or below)." },
  largest_win: { label: "Largest win", definition: "The largest net among the wins." },
  largest_loss: { label: "Largest loss", definition: "The most negative net among the losses." },
  ending_equity: {
    label: "Ending equity",
    definition:
      "The equity curve's last value: the starting equity plus the closed trades' net P&L in close order.",
  },
  current_streak: {
    label: "Streak",
    definition:
      "+n after n consecutive wins at the end, −n after n losses, 0 after a breakeven or with no trades.",
  },
  open_risk: {
    label: "Open risk",
    definition:
      "What the open positions lose if every current stop is hit: open quantity × multiplier × (average entry − stop) for a long, (stop − average entry) for a short; 0 once a stop locks in profit; positions without a stop are counted apart.",
  },
};
