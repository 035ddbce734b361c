import { describe, expect, it } from 'vitest';
import { createResumePoint } from '../src/client/resume';

describe('createResumePoint', () => {
  it('starts from the id it was given, or none', () => {
    expect(createResumePoint('e:7').get()).toBe('e:7');
    expect(createResumePoint().get()).toBeUndefined();
  });

  it("takes the server's newest id as the first resume point only while it has none", () => {
    const fresh = createResumePoint();
    fresh.startAt('e:3');
    expect(fresh.get()).toBe('e:3');
    fresh.startAt('e:9');
    expect(fresh.get()).toBe('e:3');
    const given = createResumePoint('e:1');
    given.startAt('e:3');
    expect(given.get()).toBe('e:1');
  });

  it('moves the resume point to each new id, and not to a duplicate', () => {
    const resume = createResumePoint();
    expect(resume.accept('a')).toBe(true);
    expect(resume.accept('b')).toBe(true);
    expect(resume.get()).toBe('b');
    expect(resume.accept('a')).toBe(false);
    expect(resume.get()).toBe('b');
  });

  it('after an upgrade, skips once each id the old transport delivered while the probe was on its way', () => {
    const resume = createResumePoint();
    resume.accept('1');
    resume.watchProbe(true);
    resume.accept('2');
    resume.accept('3');
    // A plain server numbers afresh: only the upgrade's own record may drop the replay.
    resume.forgetRecent();
    resume.connected(true);
    expect(resume.accept('2')).toBe(false);
    expect(resume.accept('3')).toBe(false);
    expect(resume.get()).toBe('3');
    resume.forgetRecent();
    // Skipped once: the same ids again are new events.
    expect(resume.accept('2')).toBe(true);
    expect(resume.accept('4')).toBe(true);
  });

  it('skips nothing after a connection that is not an upgrade, nor after a probe given up', () => {
    const reconnected = createResumePoint();
    reconnected.watchProbe(true);
    reconnected.accept('2');
    reconnected.forgetRecent();
    reconnected.connected(false);
    expect(reconnected.accept('2')).toBe(true);

    const givenUp = createResumePoint();
    givenUp.watchProbe(true);
    givenUp.accept('2');
    givenUp.watchProbe(false);
    givenUp.forgetRecent();
    givenUp.connected(true);
    expect(givenUp.accept('2')).toBe(true);

    // What an upgrade skipped is not skipped again by the connection after it.
    const twice = createResumePoint();
    twice.watchProbe(true);
    twice.accept('2');
    twice.connected(true);
    twice.connected(true);
    twice.forgetRecent();
    expect(twice.accept('2')).toBe(true);
  });
});
