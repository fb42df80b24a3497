/** The app shell: header with navigation, live height and language; the page of the route. */
import { render } from "preact";

import "./styles.css";
import { NODE_URL, startChain, useHead } from "./chain";
import { TxDialog } from "./components/TxDialog";
import { LANGUAGES, setLanguage, t, useLang, type Lang } from "./i18n";
import { ExplorerPage } from "./pages/Explorer";
import { ListingPage } from "./pages/Listing";
import { FeedPage } from "./pages/Feed";
import { MerchantPage } from "./pages/Merchant";
import { ProfilePage } from "./pages/Profile";
import { Storefront } from "./pages/Storefront";
import { TeamPage } from "./pages/Teams";
import { WalletPage } from "./pages/Wallet";
import { link, useRoute } from "./router";
import { useStore } from "./store";
import { vault } from "./vault";

function Page() {
  const { parts } = useRoute();
  const [first, second] = parts;
  if (first === "listing" && second !== undefined && /^\d+$/.test(second)) {
    return <ListingPage id={Number(second)} />;
  }
  if (first === "team" && second !== undefined && /^\d+$/.test(second)) {
    return <TeamPage id={Number(second)} />;
  }
  if (first === "profile" && second !== undefined) return <ProfilePage address={second} />;
  if (first === "feed") return <FeedPage />;
  if (first === "wallet") return <WalletPage />;
  if (first === "merchant") return <MerchantPage />;
  if (first === "explorer") return <ExplorerPage parts={parts.slice(1)} />;
  if (first === undefined) return <Storefront />;
  return (
    <div class="page">
      <h1>{t("pageMissing")}</h1>
      <p>
        <a href={link("")}>{t("navShop")}</a>
      </p>
    </div>
  );
}

function LiveBadge() {
  const head = useHead();
  return (
    <p class="live" aria-live="off">
      <span
        class={head.connected ? (head.live ? "dot on" : "dot") : "dot off"}
        aria-hidden="true"
      />
      <a href={link("explorer")} data-testid="live-height">
        {t("liveHeight", { height: head.height, view: head.view })}
      </a>
    </p>
  );
}

function Offline() {
  const head = useHead();
  if (head.connected) return null;
  return (
    <p class="banner" role="alert" data-testid="offline">
      {t("offline", { url: NODE_URL })}
    </p>
  );
}

function Nav() {
  const { parts } = useRoute();
  const saved = useStore(vault);
  const current = parts[0] ?? "";
  const item = (path: string, label: string) => (
    <li>
      <a
        href={link(path)}
        aria-current={
          current === path || (path === "" && current === "listing") ? "page" : undefined
        }
      >
        {label}
      </a>
    </li>
  );
  return (
    <nav aria-label={t("mainNav")}>
      <ul>
        {item("", t("navShop"))}
        {item("feed", t("navFeed"))}
        {item("wallet", saved === null ? t("navWallet") : t("navWalletOpen"))}
        {item("merchant", t("navMerchant"))}
        {item("explorer", t("navExplorer"))}
      </ul>
    </nav>
  );
}

function App() {
  const lang = useLang();
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}
      >
        {t("skipToContent")}
      </a>
      <header class="top">
        <div class="bar">
          <a class="brand" href={link("")}>
            <img src="/favicon.svg" alt="" width="28" height="28" /> Agora
          </a>
          <Nav />
          <div class="tools">
            <LiveBadge />
            <label class="visually-hidden" for="language">
              {t("language")}
            </label>
            <select
              id="language"
              value={lang}
              onChange={(e) => setLanguage(e.currentTarget.value as Lang)}
            >
              {LANGUAGES.map((l) => (
                <option key={l.code} value={l.code}>
                  {l.name}
                </option>
              ))}
            </select>
          </div>
        </div>
        <Offline />
      </header>
      <main id="main" tabIndex={-1}>
        <Page />
      </main>
      <footer class="foot">
        <p class="small muted">{t("footer")}</p>
      </footer>
      <TxDialog />
    </>
  );
}

startChain();
render(<App />, document.getElementById("app")!);
