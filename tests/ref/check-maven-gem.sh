#!/bin/sh
# check-maven-gem.sh - re-checks the maven and gem version cases against
# the reference implementations they mirror.
#
#   tests/ref/check-maven-gem.sh [maven] [gem]      (default: both)
#
# tests/data/version/maven.txt is checked against Maven's own
# org.apache.maven.artifact.versioning.ComparableVersion (the jar in
# $MAVEN_ARTIFACT_JAR, default Debian's /usr/share/maven/lib/maven-artifact-3.x.jar,
# maven-artifact 3.8.7), tests/data/version/gem.txt against RubyGems'
# Gem::Version.correct? and <=> (`ruby`, RubyGems 3.3 in Debian bookworm).
# Each line is read as test_version.c reads it: "A op B" with op one of
# < = >, or "! V" for a string that must be rejected; blank lines and lines
# starting with '#' are skipped.  Every case the reference disagrees with is
# printed with its line number; the exit status is 1 if there was any.
#
# A developer tool: `make check` does not run it (it needs a JDK and Ruby).
# A reference that is missing is reported and skipped.

set -u
cd "$(dirname "$0")/../.." || exit 2

JAR=${MAVEN_ARTIFACT_JAR:-/usr/share/maven/lib/maven-artifact-3.x.jar}
TMP=$(mktemp -d) || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM
status=0

check_maven() {
	file=tests/data/version/maven.txt
	if ! command -v java >/dev/null 2>&1 || [ ! -r "$JAR" ]; then
		echo "maven: SKIPPED (needs java 11+ and $JAR)" >&2
		return 0
	fi
	ver=$(unzip -p "$JAR" META-INF/MANIFEST.MF 2>/dev/null |
	      sed -n 's/^Implementation-Version: *//p' | tr -d '\r')
	echo "maven: ComparableVersion from maven-artifact ${ver:-?} ($JAR)"
	[ "$ver" = 3.8.7 ] || echo "maven: warning: the cases were made with 3.8.7; later versions order some differently" >&2
	# Run by Java's single-file source launcher: no build step needed.
	cat >"$TMP/MavenRef.java" <<'EOF'
import java.io.*;
import java.nio.charset.StandardCharsets;
import org.apache.maven.artifact.versioning.ComparableVersion;

public class MavenRef {
	public static void main(String[] args) throws IOException {
		BufferedReader in = new BufferedReader(new InputStreamReader(new FileInputStream(args[0]), StandardCharsets.UTF_8));
		PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
		String line;
		int lineno = 0, cases = 0, bad = 0;

		while ((line = in.readLine()) != null) {
			lineno++;
			if (line.isEmpty() || line.startsWith("#"))
				continue;
			cases++;
			String[] f = line.trim().split("\\s+");
			if (line.startsWith("!")) {
				/* ComparableVersion accepts every string. */
				out.println(args[0] + ":" + lineno + ": " + line + "   <- reference accepts it");
				bad++;
				continue;
			}
			if (f.length != 3 || !(f[1].equals("<") || f[1].equals("=") || f[1].equals(">"))) {
				out.println(args[0] + ":" + lineno + ": " + line + "   <- malformed");
				bad++;
				continue;
			}
			int c = new ComparableVersion(f[0]).compareTo(new ComparableVersion(f[2]));
			String got = c < 0 ? "<" : c > 0 ? ">" : "=";
			if (!got.equals(f[1])) {
				out.println(args[0] + ":" + lineno + ": " + line + "   <- reference: " + f[0] + " " + got + " " + f[2]);
				bad++;
			}
		}
		out.println("maven: " + cases + " cases, " + bad + " mismatches");
		System.exit(bad == 0 ? 0 : 1);
	}
}
EOF
	java -cp "$JAR" "$TMP/MavenRef.java" "$file" || status=1
}

check_gem() {
	file=tests/data/version/gem.txt
	if ! command -v ruby >/dev/null 2>&1; then
		echo "gem: SKIPPED (needs ruby)" >&2
		return 0
	fi
	echo "gem: Gem::Version from RubyGems $(ruby -e 'print Gem::VERSION') (ruby $(ruby -e 'print RUBY_VERSION'))"
	cat >"$TMP/gem_ref.rb" <<'EOF'
file = ARGV[0]
cases = bad = 0
File.open(file, 'rb') do |f|
  f.each_line.with_index(1) do |line, lineno|
    line = line.sub(/[\r\n].*\z/m, '')
    next if line.empty? || line.start_with?('#')
    cases += 1
    if line.start_with?('!')
      v = line[1..].sub(/\A +/, '')
      if Gem::Version.correct?(v)
        puts "#{file}:#{lineno}: #{line}   <- reference accepts it"
        bad += 1
      end
      next
    end
    a, op, b, extra = line.split
    if b.nil? || extra || !%w[< = >].include?(op)
      puts "#{file}:#{lineno}: #{line}   <- malformed"
      bad += 1
      next
    end
    got = if !Gem::Version.correct?(a) || !Gem::Version.correct?(b)
            'a rejected version'
          else
            c = Gem::Version.new(a) <=> Gem::Version.new(b)
            c < 0 ? '<' : c > 0 ? '>' : '='
          end
    if got != op
      puts "#{file}:#{lineno}: #{line}   <- reference: #{got}"
      bad += 1
    end
  end
end
puts "gem: #{cases} cases, #{bad} mismatches"
exit(bad.zero? ? 0 : 1)
EOF
	ruby "$TMP/gem_ref.rb" "$file" || status=1
}

[ $# -gt 0 ] || set -- maven gem
for scheme in "$@"; do
	case $scheme in
	maven) check_maven ;;
	gem) check_gem ;;
	*) echo "usage: $0 [maven] [gem]" >&2; exit 2 ;;
	esac
done
exit $status
