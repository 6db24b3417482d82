import { hash, verify } from '@node-rs/argon2';
import { Counter, type Registry } from 'prom-client';

/** argon2id with the library's defaults (m=19 MiB, t=2, p=1: the OWASP minimum). */
// `Algorithm.Argon2id` is an ambient const enum (unusable under isolatedModules): its value is 2.
const options = { algorithm: 2 } as const;

export const hashPassword = (password: string): Promise<string> => hash(password, options);

export interface PasswordChecker {
  /** Verifies `password` against `storedHash`, or against a dummy hash when there is no user. */
  check: (storedHash: string | null, password: string) => Promise<boolean>;
}

/**
 * For an unknown username the check still runs one full argon2 verification (against a hash of a
 * random secret), so a failed login takes the same time whether or not the user exists. Every
 * verification is counted (`password_verifications_total`): the argon2 load an operator watches, and
 * the proof that the unknown-user path does the same work.
 */
export async function createPasswordChecker(registry: Registry): Promise<PasswordChecker> {
  const dummy = await hashPassword(`dummy-${Math.random()}-${Date.now()}`);
  const verifications = new Counter({
    name: 'password_verifications_total',
    help: 'argon2 verifications run by logins',
    registers: [registry],
  });
  return {
    check: async (storedHash, password) => {
      try {
        const ok = await verify(storedHash ?? dummy, password);
        verifications.inc();
        return storedHash !== null && ok;
      } catch {
        return false;
      }
    },
  };
}
