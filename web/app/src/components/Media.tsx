/**
 * Listing pictures: blobs named by their SHA-256 that every node serves at
 * `/blobs/<sha256>` with long cache headers. Pictures load lazily and carry alt text
 * (the listing's title and the picture's place, since the chain keeps no caption).
 */
import { useState } from "preact/hooks";
import type { Listing } from "@agora/sdk";

import { client } from "../chain";
import { t } from "../i18n";

export function blobSrc(hash: string): string {
  return client.blobUrl(hash);
}

/** A listing version's pictures: the chosen one large, every one as a button below. */
export function Pictures({ title, media }: { title: string; media: readonly string[] }) {
  const [shown, setShown] = useState(0);
  if (media.length === 0) return null;
  const index = Math.min(shown, media.length - 1);
  const alt = (n: number) => t("pictureAlt", { title, n: n + 1, count: media.length });
  return (
    <figure class="gallery" data-testid="pictures">
      <img
        class="picture"
        src={blobSrc(media[index]!)}
        alt={alt(index)}
        loading="lazy"
        decoding="async"
        data-testid="picture"
      />
      {media.length > 1 && (
        <ul class="thumbs" aria-label={t("picturesOf", { title })}>
          {media.map((hash, n) => (
            <li key={hash}>
              <button
                type="button"
                class={n === index ? "thumb current" : "thumb"}
                aria-pressed={n === index}
                aria-label={alt(n)}
                onClick={() => setShown(n)}
              >
                <img src={blobSrc(hash)} alt="" loading="lazy" decoding="async" />
              </button>
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}

/** A listing card's first picture, or nothing. */
export function Thumb({ listing }: { listing: Listing }) {
  const first = listing.media[0];
  if (first === undefined) return null;
  return (
    <img
      class="card-picture"
      src={blobSrc(first)}
      alt={t("pictureAlt", { title: listing.title, n: 1, count: listing.media.length })}
      loading="lazy"
      decoding="async"
      width="320"
      height="200"
    />
  );
}
