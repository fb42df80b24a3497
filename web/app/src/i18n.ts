/**
 * Every string the pages show comes from one table per language (`strings.ts`): English and
 * Simplified Chinese. A new language is a new table there; the pages do not change. The
 * Chinese table is typed against the English one, so a missing string fails the build.
 */
import type { TxType } from "@agora/sdk";

import { createStore, useStore } from "./store";
import { en, zh } from "./strings";

export type Lang = "en" | "zh";
export type Key = keyof typeof en;
export const LANGUAGES: readonly { code: Lang; name: string; tag: string }[] = [
  { code: "en", name: "English", tag: "en" },
  { code: "zh", name: "简体中文", tag: "zh-CN" },
];
const TABLES: Record<Lang, Record<Key, string>> = { en, zh };
const LANG_KEY = "agora.lang";

function initial(): Lang {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === "en" || saved === "zh") return saved;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en";
}

export const language = createStore<Lang>(initial());

function applyTag(lang: Lang): void {
  document.documentElement.lang = LANGUAGES.find((l) => l.code === lang)?.tag ?? "en";
}
applyTag(language.get());

export function setLanguage(lang: Lang): void {
  localStorage.setItem(LANG_KEY, lang);
  applyTag(lang);
  language.set(lang);
}

export type Params = Record<string, string | number | bigint>;

/** The string `key` in the current language, `{name}` replaced from `params`. */
export function t(key: Key, params: Params = {}): string {
  const text = TABLES[language.get()][key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (_, name: string) =>
    name in params ? String(params[name]) : `{${name}}`,
  );
}

/** Re-render on a language switch; returns the language. */
export function useLang(): Lang {
  return useStore(language);
}

/** A refusal in words: the reason's own sentence, or the node's message with its name. */
export function reasonText(reason: string, detail: string): string {
  const key = `reason_${reason}` as Key;
  if (key in en) return t(key, { detail });
  return t("reason_unknown", { reason, detail });
}

// Every transaction type the SDK knows has its words: a new type fails the build here.
const typeWords: Record<`txType_${TxType}`, string> = en;
void typeWords;

/** A transaction type in words; the type's own name when the table has none. */
export function txTypeText(type: string): string {
  const key = `txType_${type}` as Key;
  return key in en ? t(key) : type;
}

/** A status (or any name) in words through `keys`; the name itself when it has none. */
export function wordsOf(keys: Record<string, Key>): (name: string) => string {
  return (name) => {
    const key = keys[name];
    return key === undefined ? name : t(key);
  };
}
