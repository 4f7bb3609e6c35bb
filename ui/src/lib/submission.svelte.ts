import { tick } from 'svelte';
import { toAppError } from './errors';
import type { Errors } from './forms';

/**
 * A form's Save, the same for every form: check the fields, focus the first wrong one, or send;
 * a refusal is shown and what the rep typed stays.
 */
export class Submission {
  errors = $state<Errors>({});
  problem = $state<string | null>(null);
  saving = $state(false);

  async run(form: HTMLFormElement, check: () => Errors, send: () => Promise<void>): Promise<void> {
    this.errors = check();
    this.problem = null;
    if (Object.keys(this.errors).length) {
      await tick();
      form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return;
    }
    this.saving = true;
    try {
      await send();
    } catch (error) {
      this.problem = toAppError(error).message;
    } finally {
      this.saving = false;
    }
  }
}
