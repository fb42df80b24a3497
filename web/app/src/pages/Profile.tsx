/**
 * A public profile (`#/profile/<address>`): display name, avatar, bio, follow counts and
 * the follow button, the shop when the account is a merchant, and its recent activity.
 * On one's own profile, an editor: the public fields, and the private `delivery` field,
 * sealed in this browser to the owner's own key (checkout fills the delivery details from
 * it). Other private fields and their copies are carried over to the new version as they
 * are; a changed delivery field drops its earlier copies from the new version, but what a
 * recipient was given before stays readable in the blocks: it cannot be taken back.
 */
import { useState } from "preact/hooks";
import {
  addressFromText,
  fromHex,
  isAddress,
  toHex,
  type Merchant,
  type Profile,
  type Social,
} from "@agora/sdk";

import { client, orNull, useChainData } from "../chain";
import { FollowButton } from "../components/Follow";
import { blobSrc } from "../components/Media";
import { ErrorLine, Form, InputField, Submit, TextAreaField } from "../components/fields";
import { AddressLink, Field, Load, Section, useId } from "../components/ui";
import { shortAddress } from "../format";
import { t, useLang } from "../i18n";
import { DELIVERY_FIELD, MAX_FIELD_VALUE_BYTES, sealField } from "../profiles";
import { link } from "../router";
import { useStore } from "../store";
import { requestTx } from "../txflow";
import { unlocked, vault } from "../vault";
import { FeedList } from "./Feed";

interface ProfileData {
  readonly profile: Profile | null;
  readonly social: Social;
  readonly merchant: Merchant | null;
}

async function loadProfile(address: string): Promise<ProfileData> {
  const [profile, social, merchant] = await Promise.all([
    orNull(client.profile(address)),
    client.social(address),
    orNull(client.merchant(address)),
  ]);
  return { profile, social, merchant };
}

export function ProfilePage({ address }: { address: string }) {
  useLang();
  if (!isAddress(address)) {
    return (
      <div class="page">
        <p class="notice error" role="alert">
          {t("reason_bad_address")}
        </p>
      </div>
    );
  }
  return <ProfileView address={address} />;
}

function ProfileView({ address }: { address: string }) {
  const saved = useStore(vault);
  const state = useChainData(() => loadProfile(address), [address]);
  const own = saved?.address === address;
  return (
    <div class="page">
      <Load state={state}>
        {(data) => (
          <>
            <ProfileCard address={address} data={data} />
            {own && <EditProfile profile={data.profile} reload={state.reload} />}
            <Section title={t("activityTitle")}>
              <FeedList address={address} own empty={t("activityEmpty")} />
            </Section>
          </>
        )}
      </Load>
    </div>
  );
}

function ProfileCard({ address, data }: { address: string; data: ProfileData }) {
  const { profile, social, merchant } = data;
  const name = profile?.display_name || merchant?.name || shortAddress(address);
  return (
    <section class="card profile" aria-labelledby="profile-name">
      <div class="profile-head">
        {profile?.avatar ? (
          <img
            class="avatar"
            src={blobSrc(profile.avatar)}
            alt={t("avatarOf", { name })}
            width="96"
            height="96"
            loading="lazy"
          />
        ) : (
          <span class="avatar empty" aria-hidden="true">
            {name.slice(0, 1).toUpperCase()}
          </span>
        )}
        <div class="grow">
          <h1 id="profile-name" data-testid="profile-name">
            {name}
          </h1>
          <p class="small">
            <AddressLink address={address} label={address} />
          </p>
          <p class="small muted">
            {t("followCounts", { followers: social.followers, following: social.following })}
          </p>
        </div>
        <FollowButton account={address} name={name} />
      </div>
      {profile?.bio && <p class="description" data-testid="profile-bio">{profile.bio}</p>}
      {profile === null && <p class="muted">{t("noProfile")}</p>}
      {merchant !== null && merchant.status === "approved" && (
        <p>
          <a href={link("") + `?merchant=${encodeURIComponent(address)}`}>
            {t("shopOf", { name: merchant.name })}
          </a>
        </p>
      )}
    </section>
  );
}

function EditProfile({ profile, reload }: { profile: Profile | null; reload: () => void }) {
  const keypair = useStore(unlocked);
  const saved = useStore(vault);
  const [name, setName] = useState(profile?.display_name ?? "");
  const [bio, setBio] = useState(profile?.bio ?? "");
  const [avatar, setAvatar] = useState(profile?.avatar ?? "");
  const [delivery, setDelivery] = useState("");
  const [error, setError] = useState("");
  const ids = { avatar: useId("p-avatar"), delivery: useId("p-delivery") };
  const hasDelivery = profile?.fields.some((f) => f.name === DELIVERY_FIELD) ?? false;
  const send = async () => {
    setError("");
    if (saved === null) return;
    if (avatar && !/^[0-9a-f]{64}$/.test(avatar.trim())) {
      setError(t("avatarInvalid"));
      return;
    }
    const value = delivery.trim();
    if (value && keypair === null) {
      setError(t("unlockFirst"));
      return;
    }
    // Grants by (field, recipient): the current ones, the delivery field's replaced.
    const grants = new Map<string, { field: string; to: string; sealed: Uint8Array }>();
    for (const g of profile?.grants ?? []) {
      if (value && g.field === DELIVERY_FIELD) continue;
      grants.set(`${g.field} ${g.to}`, { field: g.field, to: g.to, sealed: fromHex(g.sealed) });
    }
    if (value) {
      try {
        const sealed = sealField(saved.address, DELIVERY_FIELD, value, keypair!.publicKey);
        grants.set(`${DELIVERY_FIELD} ${saved.address}`, {
          field: DELIVERY_FIELD,
          to: saved.address,
          sealed,
        });
      } catch {
        setError(t("fieldTooLong", { max: MAX_FIELD_VALUE_BYTES }));
        return;
      }
    }
    const fields = [...new Set([...grants.values()].map((g) => g.field))].sort();
    const ordered = [...grants.values()].sort((a, b) => {
      if (a.field !== b.field) return a.field < b.field ? -1 : 1;
      const ka = toHex(addressFromText(a.to));
      const kb = toHex(addressFromText(b.to));
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    const lines = [t("descProfile", { name: name.trim() || "—" })];
    if (value) lines.push(t("descProfileDelivery"));
    const receipt = await requestTx(t("profileEdit"), lines, {
      type: "profile_set",
      version: profile?.version ?? 0,
      display_name: name.trim(),
      avatar: avatar.trim() ? fromHex(avatar.trim()) : new Uint8Array(),
      bio: bio.trim(),
      fields,
      grant_field: ordered.map((g) => fields.indexOf(g.field)),
      grant_to: ordered.map((g) => g.to),
      grant_sealed: ordered.map((g) => g.sealed),
    });
    if (receipt !== null) {
      setDelivery("");
      reload();
    }
  };
  return (
    <Section title={t("profileEdit")}>
      <Form onSubmit={send}>
        <InputField label={t("displayName")} value={name} onValue={setName} maxLength={64} />
        <TextAreaField label={t("bio")} value={bio} onValue={setBio} rows={3} maxLength={280} />
        <Field id={ids.avatar} label={t("avatar")} help={t("avatarHelp")}>
          <input id={ids.avatar} class="mono" maxLength={64} value={avatar}
                 aria-describedby={`${ids.avatar}-help`}
                 onInput={(e) => setAvatar(e.currentTarget.value.toLowerCase())} />
        </Field>
        <Field
          id={ids.delivery}
          label={t("privateDelivery")}
          help={hasDelivery ? t("privateDeliverySet") : t("privateDeliveryHelp")}
        >
          <textarea id={ids.delivery} rows={2} maxLength={MAX_FIELD_VALUE_BYTES} value={delivery}
                    aria-describedby={`${ids.delivery}-help`}
                    onInput={(e) => setDelivery(e.currentTarget.value)} />
        </Field>
        <p class="small muted">{t("disclosureNote")}</p>
        <ErrorLine error={error} />
        <Submit label={t("profileSave")} />
      </Form>
    </Section>
  );
}
