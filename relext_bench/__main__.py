from relext_bench.cli import main

raise SystemExit(main())
