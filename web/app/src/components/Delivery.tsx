/**
 * The delivery details of a purchase or a team seat: typed, or taken from the private
 * `delivery` field of the buyer's own profile (opened in this browser with the unlocked
 * key), then sealed to the merchant at signing (checkout.ts `sealDelivery`).
 */
import { useState } from "preact/hooks";

import { client, isNotFound } from "../chain";
import { t } from "../i18n";
import { DELIVERY_FIELD, ownField } from "../profiles";
import { useStore } from "../store";
import { unlocked, vault } from "../vault";
import { Field, useId } from "./ui";

export function DeliveryField({
  value,
  onInput,
}: {
  value: string;
  onInput: (value: string) => void;
}) {
  const id = useId("delivery");
  const keypair = useStore(unlocked);
  const saved = useStore(vault);
  const [note, setNote] = useState("");
  const fill = async () => {
    setNote("");
    if (keypair === null) {
      setNote(t("unlockFirst"));
      return;
    }
    try {
      const profile = await client.profile(keypair.address).catch((error: unknown) => {
        if (isNotFound(error)) return null;
        throw error;
      });
      const found = ownField(keypair, profile, DELIVERY_FIELD);
      if (found === null) setNote(t("noSavedDelivery"));
      else onInput(found);
    } catch {
      setNote(t("noteDoesNotOpen"));
    }
  };
  return (
    <Field id={id} label={t("delivery")} help={t("deliveryHelp")}>
      <textarea
        id={id}
        rows={3}
        value={value}
        maxLength={400}
        aria-describedby={`${id}-help`}
        onInput={(e) => onInput(e.currentTarget.value)}
      />
      {saved !== null && (
        <button type="button" class="link small" onClick={() => void fill()}>
          {t("deliveryFromProfile")}
        </button>
      )}
      {note && (
        <p class="small muted" role="status">
          {note}
        </p>
      )}
    </Field>
  );
}
