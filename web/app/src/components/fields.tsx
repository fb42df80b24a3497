/**
 * Form controls: a form that runs a handler, its error line, and labelled inputs (text,
 * secret, amount, count, text area) that keep the label, the control and its help tied
 * together by ids.
 */
import { h, type ComponentChildren } from "preact";

import { Field, useId } from "./ui";

/** A form that runs `onSubmit` instead of navigating. */
export function Form({
  onSubmit,
  children,
  label,
  class: className,
}: {
  onSubmit: () => unknown;
  children: ComponentChildren;
  label?: string;
  class?: string;
}) {
  return (
    <form
      class={className}
      aria-label={label}
      onSubmit={(event) => {
        event.preventDefault();
        void onSubmit();
      }}
    >
      {children}
    </form>
  );
}

/** A form's submit button: `primary` (the page's main action) or `secondary`. */
export function Submit({
  label,
  kind = "primary",
  disabled,
}: {
  label: string;
  kind?: "primary" | "secondary";
  disabled?: boolean;
}) {
  return (
    <button type="submit" class={kind} disabled={disabled}>
      {label}
    </button>
  );
}

/** A form's error, announced; nothing when there is none. */
export function ErrorLine({ error }: { error: string }) {
  if (!error) return null;
  return (
    <p class="notice error" role="alert">
      {error}
    </p>
  );
}

interface ControlProps {
  label: string;
  /** The control's id when something else names it (focus); a fresh one otherwise. */
  id?: string;
  value: string;
  onValue: (value: string) => void;
  help?: string;
  required?: boolean;
  maxLength?: number;
  class?: string;
  testId?: string;
}

type InputProps = ControlProps & {
  type?: "text" | "number" | "password" | "search";
  min?: number;
  max?: number;
  step?: number;
  inputMode?: "numeric" | "decimal" | "text";
  autoComplete?: string;
};

/** A labelled `input` or `textarea` (its help, if any, describing it). */
function Control({
  tag,
  props: { label, value, onValue, help, testId, id: given, ...rest },
}: {
  tag: "input" | "textarea";
  props: InputProps & { rows?: number };
}) {
  const generated = useId(tag);
  const id = given ?? generated;
  return (
    <Field id={id} label={label} help={help}>
      {h(tag, {
        id,
        value,
        "data-testid": testId,
        "aria-describedby": help === undefined ? undefined : `${id}-help`,
        onInput: (e: Event) => onValue((e.currentTarget as HTMLInputElement).value),
        ...rest,
      })}
    </Field>
  );
}

export function InputField(props: InputProps) {
  return <Control tag="input" props={props} />;
}

export function TextAreaField(props: ControlProps & { rows?: number }) {
  return <Control tag="textarea" props={props} />;
}

/** A required secret (a passphrase, a key); `autoComplete` says which. */
export function PasswordField(props: Omit<ControlProps, "required"> & { autoComplete: string }) {
  return <InputField type="password" required {...props} />;
}

/** A required amount in tokens ("12.5"). */
export function AmountField(props: Omit<ControlProps, "required">) {
  return <InputField inputMode="decimal" required {...props} />;
}

/** A required whole number of at least `min`. */
export function CountField(props: Omit<ControlProps, "required"> & { min: number; max?: number }) {
  return <InputField type="number" required {...props} />;
}

/** A search box with its button, inside a search form (the form runs the search). */
export function SearchBox(props: {
  label: string;
  button: string;
  value: string;
  onValue: (value: string) => void;
  maxLength: number;
  mono?: boolean;
}) {
  const id = useId("search");
  return (
    <div class="field grow">
      <label for={id}>{props.label}</label>
      <div class="inline">
        <input
          id={id}
          type="search"
          class={props.mono ? "mono" : undefined}
          value={props.value}
          maxLength={props.maxLength}
          onInput={(e) => props.onValue(e.currentTarget.value)}
        />
        <Submit label={props.button} />
      </div>
    </div>
  );
}

/** A labelled choice among `options` (value and words), the first being "any" ("" value). */
export function ChoiceField(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: readonly { value: string; label: string }[];
}) {
  const id = useId("choice");
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}
