import type { UpdateCheck } from "../bindings/UpdateCheck";

/** What the update panel says about a check of the feed, in plain words. */
export function describeUpdate(u: UpdateCheck): string {
  switch (u.status) {
    case "up_to_date":
      return `TrendDojo ${u.current} is the newest version.`;
    case "available":
      return `TrendDojo ${u.version} is available (you have ${u.current}).`;
    case "refused":
      return `Not offered: ${u.reason}`;
  }
}
