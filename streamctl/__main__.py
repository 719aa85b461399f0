from streamctl.main import run

run()
