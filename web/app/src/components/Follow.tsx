/** Follow and unfollow a merchant or an account, from any page that names one. */
import { client, useChainData } from "../chain";
import { shortAddress } from "../format";
import { t } from "../i18n";
import { useStore } from "../store";
import { requestTx } from "../txflow";
import { vault } from "../vault";

/** The accounts `address` follows: the first page (`MAX_FOLLOWING_SHOWN`) is what a
 * button needs to know whether it follows one. */
export const MAX_FOLLOWING_SHOWN = 200;

export function useFollowing(address: string | null) {
  return useChainData(
    async () =>
      address === null
        ? new Set<string>()
        : new Set(
            (await client.following(address, { limit: MAX_FOLLOWING_SHOWN })).items.map(
              (f) => f.address,
            ),
          ),
    [address],
  );
}

export function FollowButton({ account, name }: { account: string; name?: string }) {
  const saved = useStore(vault);
  const following = useFollowing(saved?.address ?? null);
  if (saved === null || saved.address === account || following.data === undefined) return null;
  const follows = following.data.has(account);
  const who = name || shortAddress(account);
  const toggle = async () => {
    const receipt = await requestTx(
      follows ? t("unfollowNamed", { name: who }) : t("followNamed", { name: who }),
      [follows ? t("descUnfollow", { name: who }) : t("descFollow", { name: who })],
      { type: follows ? "unfollow" : "follow", account },
    );
    if (receipt !== null) following.reload();
  };
  return (
    <button
      type="button"
      class={follows ? "secondary small" : "primary small"}
      aria-pressed={follows}
      data-testid="follow"
      onClick={() => void toggle()}
    >
      {follows ? t("following") : t("follow")}
      <span class="visually-hidden"> {who}</span>
    </button>
  );
}
