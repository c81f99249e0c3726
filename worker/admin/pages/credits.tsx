import type { FC } from "hono/jsx";
import type { InstanceView } from "../../api/schemas";
import type { FleetCredits } from "../../api/schemas";
import { utcTime } from "../format";
import { CsrfField, type PageContext } from "../layout";

const usd = (n: number) => `$${n.toFixed(2)}`;

/** An instance whose model credits ran out: its agent told the chat and stopped answering. */
export const CreditsBadge: FC<{ view: InstanceView }> = ({ view }) =>
  view.creditsExhaustedAt !== null ? (
    <span class="badge s-crashed" title={`model credits used up since ${utcTime(view.creditsExhaustedAt)}; a top-up clears this`} data-credits-exhausted>
      no credits
    </span>
  ) : null;

/** The fleet's model spend this month against its limits; instances OpenRouter could not answer for count as unknown. */
export const FleetCreditsCard: FC<{ credits: FleetCredits }> = ({ credits }) => {
  const t = credits.totals;
  return (
    <section class="card" id="credits" data-testid="fleet-credits">
      <h2>Model credits</h2>
      <dl class="fields">
        <dt>Spent this month</dt>
        <dd data-testid="fleet-spend">
          {usd(t.usageMonthlyUsd)} of {usd(t.limitUsd)}
          {t.unlimited ? <span class="muted small"> · {t.unlimited} without a limit</span> : null}
        </dd>
        <dt>Instances</dt>
        <dd>
          {t.known} known
          {t.unknown ? <span data-testid="fleet-unknown"> · {t.unknown} unknown (OpenRouter did not answer)</span> : null}
        </dd>
        <dt>Out of credits</dt>
        <dd data-testid="fleet-exhausted">{t.exhausted}</dd>
      </dl>
      <p class="hint">Figures are at most {Math.round(credits.cachedForMs / 1000)} s old.</p>
    </section>
  );
};

/** Raises the instance's monthly limit by an amount, within the pool's ceiling. */
export const TopUpForm: FC<{ ctx: PageContext; view: InstanceView }> = ({ ctx, view }) => (
  <form method="post" action={`/admin/instances/${view.id}/top-up`} class="inline-form" data-testid="top-up">
    <CsrfField ctx={ctx} />
    <label>
      Add to the monthly limit ($) <input name="addUsd" inputmode="decimal" required size={6} />
    </label>
    <button type="submit" class="secondary small">
      Top up
    </button>
  </form>
);
